set terminal pngcairo size 1240,560 noenhanced font ',10'
set output 'chart.png'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set grid ytics
set key top right
set datafile missing 'NaN'
set multiplot layout 1,2
set title 'throughput by scenario (msg/s, log scale)'
set xlabel 'scenario'
plot 'rates.dat' using 2:xtic(1) title 'Lepus' lc rgb '#1f77b4', '' using 3 title 'RabbitMQ' lc rgb '#ff7f0e'
set title 'latency (µs, log scale): lower is better'
set xlabel ''
set xtics rotate by -30
plot 'latency.dat' using 2:xtic(1) title 'floor' lc rgb '#7f7f7f', '' using 3 title 'Lepus' lc rgb '#1f77b4', '' using 4 title 'RabbitMQ' lc rgb '#ff7f0e'
unset multiplot
