/** Opening a recording the user picked or dropped: shared by the app shell (drag and drop) and the Sessions page. */
import { LOCAL_PREFIX } from './hub.ts';
import type { useHub } from './hooks.ts';
import { useView } from '../state/view.ts';

/** Opens a file in the worker and shows its overview. */
export function openLocalFile(hub: ReturnType<typeof useHub>, f: File): void {
  const st = useView.getState();
  st.setSession(`${LOCAL_PREFIX}${f.name}`);
  st.clearFilters();
  st.setView('overview');
  const id = `${LOCAL_PREFIX}${f.name}`;
  void hub.openFile(f, f.name).then(() => {
    // A file that cannot be read: back to the Sessions page, which shows why next to the file picker.
    const cur = hub.current.get();
    if (cur && cur.id === id && cur.status === 'error' && useView.getState().session === id) useView.getState().setView('sessions');
  });
}
