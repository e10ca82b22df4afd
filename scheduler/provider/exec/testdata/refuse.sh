#!/bin/sh
# Answers every action with a "state" error.
cat >/dev/null
echo '{"error":"instance is busy","code":"state"}'
