/**
 * Administration: one page with a section per subject (`/admin/<section>`), loaded on demand (its own chunk: a
 * technician who never administers downloads none of it). Each section shows only what the user's roles allow
 * (can.ts); the collector authorises every call anyway.
 */

import { holds, isGlobalAdmin } from '../../can.js';
import { Layout, Link } from '../../components/Layout.js';
import { currentUser } from '../../session.js';
import { ChannelsSection } from './ChannelsSection.js';
import { ClientsSection } from './ClientsSection.js';
import { ContractsSection } from './ContractsSection.js';
import { EnrollmentSection } from './EnrollmentSection.js';
import { TokensSection } from './TokensSection.js';
import { UsersSection } from './UsersSection.js';

/** The sections, and who sees each. */
const SECTIONS = [
  { key: 'users', label: 'Users and roles', show: isGlobalAdmin },
  { key: 'tokens', label: 'API tokens', show: () => true },
  { key: 'clients', label: 'Clients and sites', show: () => true },
  { key: 'contracts', label: 'Contracts and calendars', show: () => true },
  {
    key: 'enrollment',
    label: 'Enrollment and installers',
    show: (u: Parameters<typeof isGlobalAdmin>[0]) => holds(u, 'tier2'),
  },
  {
    key: 'channels',
    label: 'Notification channels',
    show: (u: Parameters<typeof isGlobalAdmin>[0]) => holds(u, 'tier3'),
  },
] as const;

export function AdminPage(props: { section: string | undefined }) {
  const user = currentUser.value;
  const visible = SECTIONS.filter((s) => s.show(user));
  const current = visible.find((s) => s.key === props.section) ?? visible[0]!;
  return (
    <Layout>
      <h1>Administration</h1>
      <nav class="tabs" aria-label="Administration sections">
        {visible.map((s) => (
          <Link key={s.key} href={`/admin/${s.key}`} class={s.key === current.key ? 'active' : undefined}>
            {s.label}
          </Link>
        ))}
        <Link href="/account">Two-factor (TOTP)</Link>
      </nav>
      <section aria-label={current.label}>
        <h2>{current.label}</h2>
        {current.key === 'users' && <UsersSection />}
        {current.key === 'tokens' && <TokensSection />}
        {current.key === 'clients' && <ClientsSection />}
        {current.key === 'contracts' && <ContractsSection />}
        {current.key === 'enrollment' && <EnrollmentSection />}
        {current.key === 'channels' && <ChannelsSection />}
      </section>
    </Layout>
  );
}
