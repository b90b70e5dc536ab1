// Where keepalived's side of an HA gateway lives on the host: paths apply, status and drain read without the model.
/** Where keepalived's notify commands write each tenant's VRRP state (MASTER, BACKUP, FAULT): status/plan/drain read it. */
export const HA_STATE_DIR = '/run/s2sgw/ha';
/**
 * The resident listener (docs/ha.md, "The notify listener"): keepalived writes each state change as a line
 * (`INSTANCE "NAME" STATE PRIORITY`) to NOTIFY_FIFO and starts LISTENER_SCRIPT once, with that FIFO's name as its last
 * argument. apply writes the script (it names the s2sgw that applied and charon's VICI socket) and creates the FIFO's
 * folder before it starts keepalived. The listener talks to charon over VICI (unix socket connects) and keeps an
 * `ip -batch` open, so a state change costs no program start; while its pid (LISTENER_PID) lives, the notify commands only write the state.
 */
export const NOTIFY_FIFO = '/run/s2sgw/ha/notify.fifo';
export const LISTENER_PID = '/run/s2sgw/ha/listener.pid';
export const LISTENER_SCRIPT = '/var/lib/s2sgw/ha/listen';
/** The marker of the comment line that carries an instance's tunnels (JSON) for the listener. */
export const TUNNELS_MARK = '# s2sgw-ha-tunnels ';
/** The gateway's drain file: "1" lowers every instance's priority by DRAIN_WEIGHT (keepalived track_file), "0" restores it. */
export const DRAIN_FILE = '/var/lib/s2sgw/ha/drain';

/** A tenant's VRRP state file (MASTER, BACKUP, FAULT), written by keepalived's notify commands. */
export function stateFile(tenant: string): string {
  return `${HA_STATE_DIR}/${tenant}.state`;
}
