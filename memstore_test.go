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

// The core suite asks for no optional capability: a store with neither
// SessionLister nor SessionToucher passes it, and Run skips the rest.
func TestCoreStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return coreStore{oauthlogin.NewMemoryStore()} })
}
