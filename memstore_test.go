package oauthlogin_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return oauthlogin.NewMemoryStore() })
}

func TestMemoryLocker(t *testing.T) {
	storetest.Locker(t, func(*testing.T) storetest.Store { return oauthlogin.NewMemoryStore() })
}
