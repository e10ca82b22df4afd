#!/bin/sh
# Fails every action: a non-zero exit with a message on stderr.
cat >/dev/null
echo "no capacity in the pool" >&2
exit 3
