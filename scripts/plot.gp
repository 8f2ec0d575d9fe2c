# plot.gp: plot connbench results with gnuplot; an example to start your own plots from.
#
# gnuplot cannot read JSON, so connbench report turns the result into files it can read:
#
#   connbench report connbench.json --format hgrm --phase transaction -o spectrum.hgrm
#   connbench report connbench.json --format series-csv -o series.csv
#   gnuplot -e "spectrum='spectrum.hgrm'; series='series.csv'; out='connbench'" scripts/plot.gp
#
# (several result files can be given to connbench report at once; their runs are all drawn).
# It writes three PNG files:
#
#   OUT-spectrum.png   latency by percentile, every run overlaid, on a "nines" axis:
#                      x = 1/(1-q) on a log scale (50% 90% 99% ... 99.999%), from the hgrm
#                      file (HdrHistogram's percentile distribution; values in ms; one block
#                      per run, blocks separated by two blank lines, so block i is "index i")
#   OUT-timeline.png   per-interval transactions/s and p99 latency, from series.csv
#   OUT-states.png     client sockets by TCP state over time, one panel per run, with the
#                      ephemeral port capacity (port_range_size x sources) as a dashed line
#
# The series CSV has a header row; columns are read by name (column("t_s")), and its "run"
# column (0, 1, ...) tells the runs apart. Run titles and the state columns are read with
# awk and head through system(), so this needs a Unix shell. Tested with gnuplot 5.4.

if (!exists("spectrum")) spectrum = "spectrum.hgrm"
if (!exists("series")) series = "series.csv"
if (!exists("out")) out = "connbench"

set terminal pngcairo size 1000,600 font "DejaVu Sans,10" noenhanced
set grid lc rgb "#dddddd"
set key top left box opaque

# ---- latency by percentile -------------------------------------------------------------
# Each block starts with "# FILE run LABEL phase PHASE": its title.
titles = system(sprintf("awk '/^# / { sub(/^# /, \"\"); i = index($0, \" run \"); j = index($0, \" phase \"); printf \"\\\"%%s: %%s\\\" \", substr($0, 1, i-1), substr($0, i+5, j-i-5) }' '%s'", spectrum))
nblocks = words(titles)
phase = system(sprintf("awk '/^# / { j = index($0, \" phase \"); s = substr($0, j+7); sub(/ .*/, \"\", s); print s; exit }' '%s'", spectrum))

set output out."-spectrum.png"
set title phase." latency by percentile"
set logscale xy
set xrange [2:100000]
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)  # labels are formats: %% is %
set format y "%g ms"
set xlabel "percentile (log scale of 1/(1-percentile))"
set ylabel "latency (log scale)"
# Column 4 is 1/(1-Percentile), column 1 the value in ms; the header row and the last row
# (100%, which has no column 4) are skipped as invalid points.
plot for [i=0:nblocks-1] spectrum index i using 4:1 with lines lw 2 title word(titles, i+1)
unset logscale
unset xtics
set xtics
set autoscale

# ---- rate and p99 over time ------------------------------------------------------------
set datafile separator ","
set datafile missing ""
# One title per run, in the order of the "run" column: "FILE: LABEL".
runs = system(sprintf("awk -F, 'NR > 1 && !seen[$4]++ { printf \"\\\"%%s: %%s\\\" \", $1, $2 }' '%s'", series))
nruns = words(runs)
set key outside right top vertical Left reverse box noopaque
mid(x) = (column("start_ns") + column("end_ns")) / 2e9
of(i, col) = (column("run") == i ? column(col) : NaN)

set output out."-timeline.png"
set terminal pngcairo size 1000,800 font "DejaVu Sans,10" noenhanced
set multiplot layout 2,1 title "per-interval rate and p99 latency"
set title ""
set xlabel ""
set ylabel "transactions per second"
set format y "%.0f"
set yrange [0:*]
plot for [i=0:nruns-1] series using (mid(0)):(of(i, "transactions_per_sec")) with linespoints lw 2 pt 7 ps 0.6 title word(runs, i+1)
set xlabel "time since the measured start (s)"
set ylabel "transaction p99 (ms, log scale)"
set logscale y
set format y "%g"
set yrange [*:*]
plot for [i=0:nruns-1] series using (mid(0)):(of(i, "transaction_p99_ns") / 1e6) with linespoints lw 2 pt 7 ps 0.6 title word(runs, i+1)
unset multiplot
unset logscale

# ---- socket states over time -----------------------------------------------------------
header = system(sprintf("head -n 1 '%s' | tr ',' ' '", series))
states = ""
do for [w in header] {
    if (strstrt(w, "state_") == 1) { states = states." ".w }
}
set output out."-states.png"
set terminal pngcairo size 1000, (360 * nruns + 40) font "DejaVu Sans,10" noenhanced
set multiplot layout nruns,1
set xlabel "time since the measured start (s)"
set ylabel "sockets"
set yrange [0:*]
set format y "%.0f"
do for [i=0:nruns-1] {
    set title "socket states: ".word(runs, i+1)
    stats series using (of(i, "t_s")) nooutput
    set xrange [0:STATS_max]
    # States are sampled at the end of each interval (t_s).
    plot for [s in states] series using "t_s":(of(i, s)) with linespoints lw 2 pt 7 ps 0.5 title s[7:], \
         series using "t_s":(of(i, "ports_in_use")) with lines dt 3 lw 1.5 lc rgb "black" title "ports in use", \
         series using "t_s":(of(i, "port_capacity")) with lines dt 2 lw 1.5 lc rgb "#c0392b" title "ephemeral ports"
}
unset multiplot
