module github.com/lnmp-init/lnmp-init

go 1.26.8

require golang.org/x/sys v0.49.0

require (
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
)
