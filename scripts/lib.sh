# Shell helpers the scripts share (source it). Every wait is bounded and says how long it has waited.

# wait_for URL SECONDS [PID LOG]: until URL answers, at most SECONDS, saying every 5 s how long it has
# waited; gives up (status 1, with the last lines of LOG) when the time is over or process PID died.
wait_for() {
  local url=$1 limit=$2 pid=${3:-} log=${4:-} start=$SECONDS next=5
  until curl -fsS "$url" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "the process ($pid) exited before $url answered${log:+; the end of $log:}" >&2
      if [ -n "$log" ]; then tail -n 20 "$log" >&2; fi
      return 1
    fi
    if (( SECONDS - start >= limit )); then
      echo "$url did not answer within $limit s${log:+; the end of $log:}" >&2
      if [ -n "$log" ]; then tail -n 20 "$log" >&2; fi
      return 1
    fi
    if (( SECONDS - start >= next )); then
      echo "  waiting for $url: $((SECONDS - start)) s${log:+ (its log: $(tail -n 1 "$log" 2>/dev/null | cut -c1-120))}" >&2
      next=$((next + 5))
    fi
    sleep 0.2
  done
}

# wait_for_line FILE PATTERN SECONDS: until FILE holds a line matching PATTERN, at most SECONDS,
# saying every 5 s how long it has waited; gives up (status 1, with the end of FILE) after.
wait_for_line() {
  local file=$1 pattern=$2 limit=$3 start=$SECONDS next=5
  until grep -q "$pattern" "$file" 2>/dev/null; do
    if (( SECONDS - start >= limit )); then
      echo "\"$pattern\" did not appear in $file within $limit s; its end:" >&2
      tail -n 20 "$file" >&2
      return 1
    fi
    if (( SECONDS - start >= next )); then
      echo "  waiting for \"$pattern\" in $file: $((SECONDS - start)) s" >&2
      next=$((next + 5))
    fi
    sleep 0.2
  done
}
