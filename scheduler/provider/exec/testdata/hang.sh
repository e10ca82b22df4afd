#!/bin/sh
# Never answers; a child process holds stdout open too.
cat >/dev/null
sleep 600 &
echo $! >"${HANG_PID_FILE:-/dev/null}"
wait
