// Package reload applies configuration changes to a running nginx and
// php-fpm: it decides when a group of config files has really changed, and
// then validates the new config and signals the server (SIGHUP for nginx,
// SIGUSR2 for php-fpm), which a failed validation must prevent, since
// php-fpm's master dies on SIGUSR2 with a broken config.
//
// The deciding half is Watcher. In a pod the configs are ConfigMap volumes,
// which the kubelet updates by renaming a `..data` symlink over the old one
// rather than by writing the visible files, so the events that announce a
// change name neither the file nor, on some systems, the operation one
// would expect (jimmidyson/configmap-reload issue 190: the swap shows up as
// Write). Watcher therefore treats events only as a hint that something may
// have changed: after a burst of them goes quiet it hashes the content of
// each group the events touched and reports only the groups whose hash
// differs from the last one reported.
//
// Which events count is decided by name, to keep the kubelet's hidden
// timestamped directories and editors' swap files from causing work, but
// with the same rules that decide what is hashed: an event counts when it
// names an entry the group's content includes, the directory holding them
// or that directory's parent, "..data", or the first step of a symlink the
// content goes through. A change behind a symlink that leads out of the
// watched directories raises no event here, so it is seen only with the
// next event that counts. A change of mode alone is no change: the hash
// covers content only.
package reload
