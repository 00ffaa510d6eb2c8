/* notify.h - systemd's service notification protocol (sd_notify(3)): one
 * datagram of "KEY=value" lines to the socket named by $NOTIFY_SOCKET. The
 * protocol is documented as stable for reimplementation; without the
 * variable (not under systemd) every call does nothing. */
#ifndef CDCTAIL_NOTIFY_H
#define CDCTAIL_NOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1\nSTATUS=tailing"). 1 sent, 0 not under
 * systemd, -1 the send failed (ignorable). */
int cdc_notify(const char *state);

/* The watchdog period systemd expects pings within, in microseconds, or 0
 * when no watchdog is configured for this process. */
uint64_t cdc_notify_watchdog_usec(void);

#endif
