module example.com/service

go 1.13

require (
	github.com/aws/aws-sdk-go v1.20.0
	github.com/pkg/errors v0.9.1
)
