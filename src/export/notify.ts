/**
 * systemd's readiness protocol (sd_notify(3)) for `Type=notify` services:
 * one datagram such as "READY=1" to the unix socket named by $NOTIFY_SOCKET.
 * Only systemd sets that variable for us; without it this does nothing.
 */
import { native } from '../sys/native';

/** Sends `state` ("READY=1", "STOPPING=1", ...) to systemd; false when not run by systemd or the send failed. */
export function sdNotify(state: string): boolean {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket || !(socket.startsWith('/') || socket.startsWith('@'))) return false;
  // '@name' is a socket in the abstract namespace: its address starts with a NUL byte
  const address = socket.startsWith('@') ? Buffer.concat([Buffer.from([0]), Buffer.from(socket.slice(1))]) : Buffer.from(socket);
  if (address.length >= 108) return false;
  return native().unixDgramSend(address, Buffer.from(state)) === 0;
}
