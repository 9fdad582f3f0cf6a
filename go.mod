module github.com/apikit/apikey

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	golang.org/x/crypto v0.59.0
)

// Test dependencies.
require github.com/stretchr/testify v1.12.1

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
