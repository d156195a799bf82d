module github.com/backplane-go/backplane/cmd/backplane-demo

go 1.26.0

require (
	github.com/backplane-go/backplane v0.0.0
	go.uber.org/goleak v1.3.0
)

replace (
	github.com/backplane-go/backplane => ../..
	github.com/backplane-go/backplane/cluster => ../../cluster
)
