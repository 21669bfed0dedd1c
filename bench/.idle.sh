. bench/lib.sh
bench_site 'log_level = warning\nnotify_hold = 10m\n'
bench_agents 16 "$W/ids"
"$B/steward-loadgen" idle --url "$URL" --ca "$W/site/ca/ca.crt" --ids "$W/ids" --connections ${N:-2000} --server-pid "$SPID" --hold 2 \
  --trigger "$B/stewardctl --dir $W/site clients notify --collection 'All Clients' policy >/dev/null"
