#!/bin/sh
# meson install step: on a live root (no DESTDIR), make the new files count
# at once: create the system user (sysusers.d), rebuild the journal catalog
# database (journalctl -x shows the explanations only after that) and have
# systemd read the installed or changed unit. Under DESTDIR (a staging tree, a package build) it does
# nothing: the package's triggers and maintainer scripts do it there.
set -eu
[ -z "${DESTDIR:-}" ] || exit 0
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers ewsprobed.conf || echo "post-install: systemd-sysusers failed" >&2
fi
if command -v journalctl >/dev/null 2>&1; then
	journalctl --update-catalog || echo "post-install: journalctl --update-catalog failed" >&2
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || echo "post-install: systemctl daemon-reload failed" >&2
fi
