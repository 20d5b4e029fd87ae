import { useView } from '../state/view.ts';

export function Toasts() {
  const toasts = useView((s) => s.toasts);
  const dismiss = useView((s) => s.dismissToast);
  if (!toasts.length) return null;
  return (
    <div className="st-toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`st-toast ${t.kind === 'error' ? 'st-toast--error' : ''}`} role={t.kind === 'error' ? 'alert' : 'status'} onClick={() => dismiss(t.id)}>
          {t.text}
        </div>
      ))}
    </div>
  );
}
