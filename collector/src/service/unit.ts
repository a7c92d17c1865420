/**
 * The collector's systemd unit. The collector is a network server that needs nothing of the host but its own state,
 * a cache for its SQLite addon and its listening sockets, so it runs under a dynamic user with the file system read
 * only, no capabilities and a system-call allow-list. Each line is justified in docs/0009-packaging.md ("The
 * collector"). Pure text: install.ts writes it.
 */

/** Where the service install puts things (absolute paths on the target system). */
export const SERVICE_LAYOUT = {
  unitName: 'outpost.service',
  unitFile: '/etc/systemd/system/outpost.service',
  installDir: '/opt/outpost-collector',
  executable: '/opt/outpost-collector/outpost',
  packagesDir: '/opt/outpost-collector/packages',
  configFile: '/etc/outpost/collector.json',
  /** StateDirectory=outpost-collector; the agent's unit owns /var/lib/outpost (StateDirectory=outpost). */
  stateName: 'outpost-collector',
  dataDir: '/var/lib/outpost-collector',
  cacheDir: '/var/cache/outpost-collector',
} as const;

/** What the unit depends on. */
export interface UnitOptions {
  /** The lowest port the collector listens on (binding below 1024 needs CAP_NET_BIND_SERVICE). */
  lowestPort: number;
}

/** The unit file's text. */
export function collectorUnit(opts: UnitOptions): string {
  const L = SERVICE_LAYOUT;
  const privilegedPort = opts.lowestPort > 0 && opts.lowestPort < 1024;
  return `# Written by \`outpost serve --install-service\`; \`outpost serve --uninstall-service\` removes it.
# Why each line: docs/0009-packaging.md, "The collector".
[Unit]
Description=Outpost collector (API, console and agent endpoint)
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
ExecStart=${L.executable} serve --config %d/collector.json
LoadCredential=collector.json:${L.configFile}
Environment=OUTPOST_NATIVE_CACHE=${L.cacheDir}/native
DynamicUser=yes
StateDirectory=${L.stateName}
StateDirectoryMode=0700
CacheDirectory=${L.stateName}
CacheDirectoryMode=0700
WorkingDirectory=${L.dataDir}
UMask=0077
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
LimitNOFILE=65536
${privilegedPort ? 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE' : 'CapabilityBoundingSet='}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# MemoryDenyWriteExecute is left off on purpose: V8's JIT writes and then executes code pages.

[Install]
WantedBy=multi-user.target
`;
}
