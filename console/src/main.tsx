/** The console's entry: checks the session, then renders the page the path names (login first when needed). */
import './styles.css';
import { render } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { AccountPage } from './pages/account/AccountPage.js';
import { FleetPage } from './pages/fleet/FleetPage.js';
import { IncidentPage } from './pages/incident/IncidentPage.js';
import { IncidentsPage } from './pages/incidents/IncidentsPage.js';
import { LoginPage } from './pages/login/LoginPage.js';
import { MachinePage } from './pages/machine/MachinePage.js';
import { navigate, route } from './router.js';
import { currentUser, restoreSession } from './session.js';

// Administration is its own chunk: most technicians never open it.
const AdminPage = lazy(() => import('./pages/admin/AdminPage.js').then((m) => ({ default: m.AdminPage })));

// Reports bring uPlot and their tables: loaded when opened.
const ReportsPage = lazy(() => import('./pages/reports/ReportsPage.js').then((m) => ({ default: m.ReportsPage })));

function App() {
  const user = currentUser.value;
  const { path } = route.value;
  if (user === undefined) return <p class="muted">Loading…</p>;
  if (user === null) {
    if (path !== '/login') queueMicrotask(() => navigate(`/login?next=${encodeURIComponent(path)}`, true));
    return <LoginPage />;
  }
  if (path === '/' || path === '/login') {
    queueMicrotask(() => navigate('/fleet', true));
    return null;
  }
  const machine = /^\/machines\/([^/]+)$/.exec(path);
  if (machine) return <MachinePage id={decodeURIComponent(machine[1]!)} />;
  if (path === '/account') return <AccountPage />;
  const report = /^\/reports(?:\/([^/]+))?$/.exec(path);
  if (report)
    return (
      <Suspense fallback={<p class="muted">Loading…</p>}>
        <ReportsPage kind={report[1]} />
      </Suspense>
    );
  const admin = /^\/admin(?:\/([^/]+))?$/.exec(path);
  if (admin)
    return (
      <Suspense fallback={<p class="muted">Loading…</p>}>
        <AdminPage section={admin[1]} />
      </Suspense>
    );
  const incident = /^\/incidents\/([^/]+)$/.exec(path);
  if (incident) return <IncidentPage id={decodeURIComponent(incident[1]!)} />;
  if (path.startsWith('/incidents')) return <IncidentsPage />;
  return <FleetPage />;
}

void restoreSession();
render(<App />, document.getElementById('app')!);
