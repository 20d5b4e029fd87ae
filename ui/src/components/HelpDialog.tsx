import { useEffect } from 'react';
import { SHORTCUTS } from '../model/keys.ts';
import { useView } from '../state/view.ts';

/** `?`: the keyboard shortcuts (Perfetto's habit). */
export function HelpDialog() {
  const open = useView((s) => s.help);
  const setHelp = useView((s) => s.setHelp);
  useEffect(() => {
    // `?` works on every view, not only the timeline.
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
      if (useView.getState().view === 'timeline') return; // the timeline handles its own keys
      if (e.key === '?') setHelp(!useView.getState().help);
      else if (e.key === 'Escape' && useView.getState().help) setHelp(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [setHelp]);
  if (!open) return null;
  return (
    <div className="st-dialog-backdrop" onClick={() => setHelp(false)}>
      <div className="st-dialog" role="dialog" aria-label="Keyboard shortcuts" data-testid="help" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        <table className="st-table">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys}>
                <td style={{ whiteSpace: 'nowrap' }}>
                  <kbd>{s.keys}</kbd>
                </td>
                <td>{s.does}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="st-small st-muted">W A S D follow the key positions of a US keyboard on any layout.</p>
        <button className="st-btn" onClick={() => setHelp(false)}>
          Close
        </button>
      </div>
    </div>
  );
}
