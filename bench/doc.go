// Package bench holds sagefence's benchmarks that span packages: the scan
// of a saved 100,000-notebook inventory through the command line
// (scan_bench_test.go), the organisation benchmark against moto
// (./orgbench, run by run.sh) and the inventory generator they share
// (./inventorygen). Results are recorded in RESULTS.md.
package bench
