package main

// Limits of the library that the command needs to know, for messages and
// for the scanner's windows. The library keeps them unexported (they are
// promised by its validation, not by names); TestLimits checks them against
// the library's behaviour.
const (
	maxPrefixLength   = 16  // the longest prefix apikey.WithPrefix accepts
	maxKeyLength      = 256 // the longest string apikey.ParseKey looks at
	minSecretBits     = 128 // the smallest apikey.WithSecretBits
	defaultSecretBits = 160 // the secret size of apikey.New's keys
)
