#  plot.gp - req/s against chain length for Baton, nginx and Mongrel2, from
#  bench/run's results.dat (columns: hops baton nginx-w1 nginx-w2 mongrel2
#  baton-host;
#  NaN where a configuration was not run). bench/run calls it as
#      gnuplot -e "datafile='...'; outfile='....png'; ceiling=N" bench/plot.gp
#  ceiling: nginx `return 200`, the better of 1 and 2 workers (0: not drawn).
if (!exists("datafile")) datafile = 'build-rel/bench/results/results.dat'
if (!exists("outfile")) outfile = 'docs/performance.png'
if (!exists("ceiling")) ceiling = 0
set terminal pngcairo size 900,620 font "sans,11"
set output outfile
set title "Requests per second by chain length (wrk -c64, 127.0.0.1, 2 cores shared with wrk)"
unset xlabel
set ylabel "requests per second"
set datafile missing "NaN"
set key below box
set grid ytics
set xrange [0.5:10.5]
set xtics ("1 hop" 1, "3 hops" 3, "10 hops" 10)
set yrange [0:*]
set format y "%.0s%c"
plot datafile using 1:2 with linespoints lw 2 pt 7 ps 1.3 title "Baton (gateway + N echo processes, ipc)", \
     '' using 1:6 with linespoints lw 2 pt 13 ps 1.3 title "Baton host (gateway + 1 process, N echo functions)", \
     '' using 1:5 with linespoints lw 2 pt 5 ps 1.3 title "Mongrel2 (handler + relays, tcp)", \
     '' using 1:4 with linespoints lw 2 pt 9 ps 1.3 title "nginx proxy chain, 2 workers", \
     '' using 1:3 with linespoints lw 2 pt 11 ps 1.3 dt 2 title "nginx proxy chain, 1 worker", \
     (ceiling > 0 ? ceiling : 1/0) with lines lw 1 dt 3 lc rgb "gray40" title "nginx return 200 (ceiling)"
