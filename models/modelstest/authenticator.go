package modelstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/webmin/webmin/models"
)

// Authenticator is a software passkey for tests outside a browser: one
// ES256 key pair and its credential id, answering a site's sign-in
// options with real signatures (user present and verified), as a phone
// would. The browser journeys use Chromium's virtual authenticator
// instead; this one lets a test send many sign-ins, right and wrong.
type Authenticator struct {
	ID     []byte
	origin string
	rpID   string
	key    *ecdsa.PrivateKey
	count  uint32
}

// NewAuthenticator makes a passkey for the site at baseURL (its BASE_URL).
func NewAuthenticator(t testing.TB, baseURL string) *Authenticator {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &Authenticator{ID: id, origin: u.Scheme + "://" + u.Host, rpID: u.Hostname(), key: key}
}

// Impostor is a device that claims this passkey's credential id but holds
// another key: its signatures never verify.
func (a *Authenticator) Impostor(t testing.TB) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Authenticator{ID: a.ID, origin: a.origin, rpID: a.rpID, key: key}
}

// Passkey is the row the site keeps once this passkey is registered to
// account userID (what FinishPasskey stores), for the test to insert.
func (a *Authenticator) Passkey(t testing.TB, userID int64, name string, now time.Time) *models.Passkey {
	t.Helper()
	pub, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        a.key.X.FillBytes(make([]byte, 32)),
		YCoord:        a.key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(webauthn.Credential{
		ID: a.ID, PublicKey: pub, AttestationType: "none",
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &models.Passkey{UserID: userID, CredentialID: base64.RawURLEncoding.EncodeToString(a.ID), Name: name,
		Data: string(data), CreatedAt: now}
}

// Assert answers a sign-in's options (BeginPasskeyLogin's JSON) as the
// browser would post it, naming account userID as the passkey's owner.
func (a *Authenticator) Assert(t testing.TB, options []byte, userID int64) []byte {
	t.Helper()
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &opts); err != nil || opts.PublicKey.Challenge == "" {
		t.Fatalf("sign-in options %s: %v", options, err)
	}
	client, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": opts.PublicKey.Challenge,
		"origin": a.origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	a.count++
	rp := sha256.Sum256([]byte(a.rpID))
	auth := append(rp[:], byte(protocol.FlagUserPresent|protocol.FlagUserVerified))
	auth = binary.BigEndian.AppendUint32(auth, a.count)
	clientHash := sha256.Sum256(client)
	signed := sha256.Sum256(append(append([]byte{}, auth...), clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	out, err := json.Marshal(map[string]any{
		"id": b64(a.ID), "rawId": b64(a.ID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig),
			"userHandle": b64(binary.BigEndian.AppendUint64(nil, uint64(userID))),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
