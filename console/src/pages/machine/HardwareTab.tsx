/** Hardware: the system, processor, memory, disks and network interfaces the agent's probes reported. */
import { InventoryTable } from './InventoryTable.js';

const PARTS = [
  {
    probe: 'system_info',
    label: 'System',
    columns: ['manufacturer', 'model', 'serial', 'bios_vendor', 'bios_version', 'chassis_type', 'virtual'],
  },
  {
    probe: 'cpu',
    label: 'Processor',
    columns: ['model', 'vendor', 'sockets', 'physical_cores', 'logical_processors', 'max_mhz', 'arch'],
  },
  { probe: 'memory', label: 'Memory', columns: ['kind', 'slot', 'size_bytes', 'type', 'speed_mts', 'manufacturer'] },
  {
    probe: 'disks',
    label: 'Disks',
    columns: ['kind', 'name', 'model', 'type', 'size_bytes', 'free_bytes', 'filesystem', 'mount', 'smart_health'],
  },
  {
    probe: 'network_interfaces',
    label: 'Network',
    columns: ['name', 'mac', 'speed_mbps', 'gateway', 'is_default', 'virtual'],
  },
];

export function HardwareTab(props: { agentId: string }) {
  return (
    <>
      {PARTS.map((p) => (
        <section key={p.probe} aria-label={p.label}>
          <h3>{p.label}</h3>
          <InventoryTable agentId={props.agentId} probe={p.probe} columns={p.columns} label={p.label} />
        </section>
      ))}
    </>
  );
}
