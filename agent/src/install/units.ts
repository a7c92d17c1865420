/**
 * The service definitions install writes, as text: the systemd unit and the launchd property list. Pure functions of
 * the executable's path, so tests read exactly what a machine would get (shared/notes/packaging.md, "Installing
 * silently as a service").
 */
import { LAUNCHD_LABEL } from './layout.js';

/**
 * The systemd unit. Restart=always with no start limit: an RMM agent that gives up is a machine nobody can reach.
 * KillMode=process: stopping or restarting the agent (an upgrade) makes systemd signal the agent only; what else
 * runs in the unit's cgroup (jobs, processes started from shells) is left to the agent to end or keep. None of the usual sandboxing: NoNewPrivileges breaks sudo in shells,
 * ProtectSystem breaks apt and dnf, ProtectHome breaks file transfer, PrivateTmp gives shells another /tmp,
 * ProtectKernelModules breaks dkms: the agent's job is to administer the machine.
 */
export function systemdUnit(execStart: string): string {
  return `# Written by \`outpost-agent install\`; \`outpost-agent uninstall\` removes it. Local changes belong in a drop-in
# (systemctl edit outpost-agent): a newer install rewrites this file.
[Unit]
Description=Outpost agent
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=exec
ExecStart=${execStart} run
Restart=always
RestartSec=5
KillMode=process
LimitNOFILE=65536
StateDirectory=outpost
StateDirectoryMode=0700
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}

/** Escapes text for a property list string. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The launchd daemon: started at boot (RunAtLoad) and whenever it exits (KeepAlive). AbandonProcessGroup is launchd's
 * KillMode=process: without it, launchd kills the whole process group when the agent stops, shells included.
 */
export function launchdPlist(execStart: string, workingDirectory: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>${xml(execStart)}</string>
    <string>run</string>
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(workingDirectory)}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>AbandonProcessGroup</key>
  <true/>
  <key>Umask</key>
  <integer>63</integer>
  <key>SoftResourceLimits</key>
  <dict>
    <key>NumberOfFiles</key>
    <integer>65536</integer>
  </dict>
</dict>
</plist>
`;
}
