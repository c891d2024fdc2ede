package oauthlogin_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// TestNormalizeEmailNeverMerges: linking by email merges accounts, so two
// addresses may compare equal only when they are one mailbox. RFC 5321
// §2.4 leaves the local part's meaning to its server; RFC 6532 §3.1 makes
// canonically equivalent (NFC-equal) UTF-8 spellings one address. NFKC
// compatibility folding, Unicode case folding and look-alike singletons
// are none of those, and each pair below is two distinct mailboxes, or an
// address refused outright (ok false), which links nothing.
func TestNormalizeEmailNeverMerges(t *testing.T) {
	for _, tc := range []struct{ name, a, b string }{
		{"Fullwidth", "john@example.com", "ｊohn@example.com"},
		{"FullwidthAll", "john@example.com", "ｊｏｈｎ@example.com"},
		{"FullwidthAt", "john@example.com", "john＠example.com"},
		{"LigatureFi", "fin@example.com", "ﬁn@example.com"},
		{"Superscript", "user2@example.com", "user²@example.com"},
		{"CircledDigit", "user1@example.com", "user①@example.com"},
		{"KelvinSign", "Kate@example.com", "\u212Aate@example.com"},
		{"OhmSign", "\u03A9mega@example.com", "\u2126mega@example.com"},
		{"LocalPartCase", "john@example.com", "John@example.com"},
		{"TurkishDotlessI", "jim@example.com", "jım@example.com"},
		{"TurkishDottedCapitalI", "Iris@example.com", "İris@example.com"},
		{"TurkishCaseFold", "iris@example.com", "İRİS@example.com"},
		{"ZeroWidthSpace", "john@example.com", "jo\u200bhn@example.com"},
		{"ZeroWidthJoiner", "john@example.com", "jo\u200dhn@example.com"},
		{"SoftHyphen", "john@example.com", "jo\u00adhn@example.com"},
		{"BidiOverride", "john@example.com", "\u202Ejohn@example.com"},
		{"NoBreakSpace", "john@example.com", "john\u00a0@example.com"},
		{"KelvinInDomain", "john@example.com", "john@example.\u212Aom"},
		{"FullwidthDomain", "john@example.com", "john@ｅxample.com"},
		{"DotlessIInDomain", "john@example.com", "john@ex\u0131mple.com"},
		{"TwoAts", "john@example.com", "john@evil@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na, oka := oauthlogin.NormalizeEmailForTest(tc.a)
			nb, okb := oauthlogin.NormalizeEmailForTest(tc.b)
			if oka && okb && na == nb {
				t.Fatalf("%q and %q both normalize to %q: two mailboxes would link", tc.a, tc.b, na)
			}
		})
	}

	// One mailbox, several spellings: these must still link.
	for _, tc := range []struct{ name, a, b string }{
		{"DomainCase", "john@example.com", "john@EXAMPLE.Com"},
		{"ALabelCase", "john@xn--bcher-kva.example", "john@XN--BCHER-KVA.example"},
		{"NFDvsNFC", "jos\u00e9@example.com", "jose\u0301@example.com"},            // é precomposed and decomposed (RFC 6532 §3.1)
		{"NFDvsNFCHangul", "\uD55C@example.com", "\u1112\u1161\u11AB@example.com"}, // 한 as one syllable and as jamo
	} {
		t.Run("Links/"+tc.name, func(t *testing.T) {
			na, oka := oauthlogin.NormalizeEmailForTest(tc.a)
			nb, okb := oauthlogin.NormalizeEmailForTest(tc.b)
			if !oka || !okb || na != nb {
				t.Fatalf("%q = %q, %v and %q = %q, %v: one mailbox, want equal", tc.a, na, oka, tc.b, nb, okb)
			}
		})
	}
}

// TestLinkByEmailRefusesFoldedLookalike: with linking by email on, account
// A verified john@example.com at one trusted provider; account B at another
// trusted provider verified a look-alike of it. B is another mailbox, so
// it signs up as a new user: A's account must not be handed to whoever
// controls B (the pre-account-takeover of linking by a folded email).
func TestLinkByEmailRefusesFoldedLookalike(t *testing.T) {
	for _, tc := range []struct {
		name, first, email string
		linked             bool
	}{
		{"Fullwidth", "john@example.com", "ｊohn@example.com", false},
		{"Ligature", "fi@example.com", "ﬁ@example.com", false},
		{"KelvinSign", "Kate@example.com", "\u212Aate@example.com", false},
		{"LocalPartCase", "john@example.com", "John@example.com", false},
		{"DomainCase", "john@example.com", "john@EXAMPLE.COM", true}, // the control: one mailbox links
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *oauthlogin.Config) { c.EmailLinkProviders = []string{"test", "plain"} })
			first := tc.first
			h.idp.SetUser(oauthlogintest.User{Subject: "user-a", Email: first, EmailVerified: true})
			a := oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(a))
			sa, _ := h.session(a)

			doc := `{"sub": "plain-b", "email": "` + tc.email + `", "email_verified": true}`
			h.plain("plain", func() string { return doc })
			b := oauthlogintest.NewBrowser()
			page, err := b.Visit(context.Background(), h.beginURL("plain"), nil)
			if err != nil {
				t.Fatal(err)
			}
			h.mustSucceed(page)
			sb, _ := h.session(b)
			if linked := sb["userId"] == sa["userId"]; linked != tc.linked {
				t.Fatalf("%s linked to %s's user = %v, want %v", tc.email, first, linked, tc.linked)
			}
		})
	}
}

// TestLinkByEmailRechecksStoredForm: an identity stored before these rules
// may hold an NFKC-folded VerifiedEmail (john@example.com for a verified
// ｊohn@example.com). A new account with the real john@example.com must
// not join it: the stored identity's reported address is normalized
// again, and must give the same form.
func TestLinkByEmailRechecksStoredForm(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.EmailLinkProviders = []string{"test", "plain"} })
	ctx := context.Background()
	legacy := &oauthlogin.Identity{ID: "legacy-1", UserID: "legacy-user", Issuer: h.idp.URL, Provider: "test", ProviderUID: "legacy",
		ProviderEmail: "ｊohn@example.com", VerifiedEmail: "john@example.com"}
	if err := h.store.CreateIdentity(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	h.plain("plain", func() string { return `{"sub": "plain-b", "email": "john@example.com", "email_verified": true}` })
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(ctx, h.beginURL("plain"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
	if sb, _ := h.session(b); sb["userId"] == "legacy-user" {
		t.Fatal("a stored folded email linked a new account to its user")
	}
}

// FuzzNormalizeEmail: a normalized address is a fixed point (normalizing
// it again changes nothing, so stored and fresh forms compare equal), and
// no form compares equal to an input that NFKC would fold differently.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"john@example.com", "ｊohn@example.com", "jose\u0301@EXAMPLE.com", "\u212Aate@example.com", "ﬁ@x.y", "a@b@c", "jo\u200bhn@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok := oauthlogin.NormalizeEmailForTest(in)
		if !ok {
			if n != "" {
				t.Fatalf("refused %q but returned %q", in, n)
			}
			return
		}
		again, ok2 := oauthlogin.NormalizeEmailForTest(n)
		if !ok2 || again != n {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q, %v", in, n, n, again, ok2)
		}
		if !norm.NFKC.IsNormalString(n[:strings.LastIndexByte(n, '@')]) {
			t.Fatalf("NormalizeEmail(%q) = %q: the local part is not NFKC-stable", in, n)
		}
	})
}
