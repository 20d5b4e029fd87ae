/**
 * Dashboard entry: reads the token from `#token=` (docs/PROTOCOL.md), the view
 * state from the query string, applies the theme and renders the app.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { Hub } from './data/hub.ts';
import { HubContext } from './data/hooks.ts';
import { decodeUrlState, tokenFromHash } from './model/url.ts';
import { useView, type ThemeChoice } from './state/view.ts';
import { applyTheme } from './theme.ts';
import './styles.css';

const token = tokenFromHash(location.hash);
const hub = new Hub(token);

const theme = (localStorage.getItem('stmscope.theme') as ThemeChoice | null) ?? 'system';
applyTheme(theme === 'light' || theme === 'dark' ? theme : 'system');

const url = decodeUrlState(location.search);
// `stmscope view FILE` prints `…/#token=…&session=…`: the session named in the
// fragment opens unless the query string already names one (a reload keeps
// what the user navigated to). The fragment is then reduced to the token.
const hash = new URLSearchParams(location.hash.slice(1));
const hashSession = hash.get('session');
if (hashSession && hashSession.length <= 200) {
  if (!url.session) {
    url.session = hashSession;
    if (url.view === 'overview' || !location.search) url.view = 'overview';
  }
  hash.delete('session');
  history.replaceState(null, '', `${location.pathname}${location.search}${hash.size ? `#${hash}` : ''}`);
}
useView.setState({
  theme: theme === 'light' || theme === 'dark' ? theme : 'system',
  view: url.session || url.view === 'compare' ? url.view : 'sessions',
  session: url.session,
  filters: url.filters,
  viewport: url.viewport,
  group: url.group,
  conflict: url.conflict,
  file: url.file,
  line: url.line,
  before: url.before,
  after: url.after,
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <HubContext.Provider value={hub}>
      <App />
    </HubContext.Provider>
  </StrictMode>,
);
