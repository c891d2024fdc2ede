// Package store is the home of oauthlogin's store backends beyond the
// default in-memory one (oauthlogin.MemoryStore), each in its own package
// that depends only on its driver, and of storetest, the conformance suite
// every backend passes.
package store
