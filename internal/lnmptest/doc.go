// Package lnmptest is the harness that lnmp-init's integration tests and its
// benchmark program share: a self-contained nginx + php-fpm setup in a
// directory (Sandbox), a ConfigMap-style writer that swaps files the way the
// kubelet does (WriteAtomic), a handle on a process running as PID 1 of a
// fresh PID namespace (Init), and HTTP load helpers that never reuse a
// connection.
//
// The main API returns errors instead of taking a *testing.T so the benchmark
// program can use it; testing.go adds thin wrappers that fail a test and
// register cleanups.
//
// Everything here is Linux-only and most of it needs root: PID namespaces
// come from unshare(1), and non-root runs go through setpriv(1). Call
// Requirements before anything else and skip with its reason when it fails.
package lnmptest
