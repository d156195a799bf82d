module github.com/backplane-go/backplane/bench

go 1.26

require github.com/backplane-go/backplane v0.0.0

require (
	github.com/asynkron/protoactor-go v0.0.0-20240822202345-3c0e61ca19c9 // indirect
	github.com/thejerf/suture/v4 v4.0.6 // indirect
)

replace github.com/backplane-go/backplane => ../
