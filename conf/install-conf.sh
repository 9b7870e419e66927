#!/bin/sh
# meson install step: put the sample configuration in place as
# $DESTDIR<sysconfdir>/ewsprobed/ewsprobed.conf unless a file is already
# there (an admin's configuration is never overwritten), and make the
# root-only credentials directory the unit loads passwords from.
set -eu
dir="${DESTDIR:-}$1"
mkdir -p "$dir"
if [ ! -e "$dir/ewsprobed.conf" ]; then
	install -m 0644 "$MESON_SOURCE_ROOT/conf/ewsprobed.conf" "$dir/ewsprobed.conf"
fi
install -d -m 0700 "$dir/credentials"
