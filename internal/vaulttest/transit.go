package vaulttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// transitKey is a named Transit key and its versions (version n is
// versions[n-1]).
type transitKey struct {
	name     string
	typ      string
	versions []transitVersion
}

type transitVersion struct {
	signer  crypto.Signer // nil for aes256-gcm96, which cannot sign
	created time.Time
}

// Transit key types the double creates; aes256-gcm96 (Vault's default)
// exists so that signing with a key that cannot sign fails as in Vault.
const (
	keyEd25519   = "ed25519"
	keyECDSAP256 = "ecdsa-p256"
	keyAES256    = "aes256-gcm96"
)

func (s *Server) routeTransit() {
	s.mux.HandleFunc("POST /v1/transit/keys/{name}", s.transitCreate)
	s.mux.HandleFunc("GET /v1/transit/keys/{name}", s.transitRead)
	s.mux.HandleFunc("LIST /v1/transit/keys", s.transitList)
	s.mux.HandleFunc("POST /v1/transit/keys/{name}/rotate", s.transitRotate)
	s.mux.HandleFunc("POST /v1/transit/sign/{name}", s.transitSign)
	s.mux.HandleFunc("POST /v1/transit/sign/{name}/{hash}", s.transitSign)
	s.mux.HandleFunc("POST /v1/transit/verify/{name}", s.transitVerify)
	s.mux.HandleFunc("POST /v1/transit/verify/{name}/{hash}", s.transitVerify)
}

// CreateTransitKey creates a Transit key of type "ed25519" or
// "ecdsa-p256", as POST /v1/transit/keys/:name does.
func (s *Server) CreateTransitKey(name, typ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.transit[name]; ok {
		return nil
	}
	k := &transitKey{name: name, typ: typ}
	if err := k.rotate(); err != nil {
		return err
	}
	s.transit[name] = k
	return nil
}

// TransitPublicKey returns the public key of a version of a Transit key
// (ed25519.PublicKey or *ecdsa.PublicKey), so tests can check signatures
// without asking the double; nil when there is no such key or version.
func (s *Server) TransitPublicKey(name string, version int) crypto.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.transit[name]
	if k == nil || version < 1 || version > len(k.versions) || k.versions[version-1].signer == nil {
		return nil
	}
	return k.versions[version-1].signer.Public()
}

// rotate adds a version with a fresh key.
func (k *transitKey) rotate() error {
	var signer crypto.Signer
	var err error
	switch k.typ {
	case keyEd25519:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	case keyECDSAP256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keyAES256:
	default:
		return fmt.Errorf("unknown key type %s", k.typ)
	}
	if err != nil {
		return err
	}
	k.versions = append(k.versions, transitVersion{signer: signer, created: time.Now().UTC()})
	return nil
}

// info is the key's read response data.
func (k *transitKey) info() map[string]any {
	keys := map[string]any{}
	for i, v := range k.versions {
		n := strconv.Itoa(i + 1)
		if v.signer == nil {
			keys[n] = v.created.Unix()
			continue
		}
		entry := map[string]any{"creation_time": v.created.Format(time.RFC3339Nano), "certificate_chain": ""}
		switch pub := v.signer.Public().(type) {
		case ed25519.PublicKey:
			entry["name"] = "ed25519"
			entry["public_key"] = base64.StdEncoding.EncodeToString(pub)
		case *ecdsa.PublicKey:
			der, _ := x509.MarshalPKIXPublicKey(pub)
			entry["name"] = "P-256"
			entry["public_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
		keys[n] = entry
	}
	signing := k.typ != keyAES256
	return map[string]any{
		"name": k.name, "type": k.typ, "keys": keys,
		"latest_version": len(k.versions), "min_available_version": 0,
		"min_decryption_version": 1, "min_encryption_version": 0,
		"deletion_allowed": false, "derived": false, "exportable": false,
		"allow_plaintext_backup": false, "auto_rotate_period": 0, "imported_key": false,
		"supports_encryption": !signing, "supports_decryption": !signing,
		"supports_derivation": k.typ != keyECDSAP256, "supports_signing": signing,
	}
}

func (s *Server) transitCreate(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	typ := str(body, "type")
	if typ == "" {
		typ = keyAES256
	}
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.transit[name]; ok {
		writeData(w, k.info())
		return
	}
	k := &transitKey{name: name, typ: typ}
	if err := k.rotate(); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.transit[name] = k
	writeData(w, k.info())
}

func (s *Server) transitRead(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.transit[r.PathValue("name")]
	if !ok {
		writeErrors(w, http.StatusNotFound, "")
		return
	}
	writeData(w, k.info())
}

func (s *Server) transitList(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.transit) == 0 {
		writeErrors(w, http.StatusNotFound, "")
		return
	}
	writeData(w, map[string]any{"keys": slices.Sorted(maps.Keys(s.transit))})
}

func (s *Server) transitRotate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.transit[r.PathValue("name")]
	if !ok {
		writeErrors(w, http.StatusBadRequest, "key not found")
		return
	}
	if err := k.rotate(); err != nil {
		writeErrors(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeData(w, k.info())
}

// signingRequest is what sign and verify share: the key, the input and
// how it is hashed and the signature marshaled.
type signingRequest struct {
	key        *transitKey
	input      []byte
	marshaling string
	body       map[string]any
}

// signingInput resolves the key and digests the input the way Vault does:
// ed25519 signs the input itself, ECDSA a hash of it (unless prehashed).
// It answers the error itself and returns false when the request is bad.
func (s *Server) signingInput(w http.ResponseWriter, r *http.Request, body map[string]any, verb string) (signingRequest, bool) {
	algorithm := r.PathValue("hash")
	if algorithm == "" {
		algorithm = str(body, "hash_algorithm")
	}
	if algorithm == "" {
		algorithm = "sha2-256"
	}
	newHash, ok := hashes[algorithm]
	if !ok {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("invalid hash algorithm %q", algorithm))
		return signingRequest{}, false
	}
	marshaling := str(body, "marshaling_algorithm")
	if marshaling == "" {
		marshaling = "asn1"
	}
	if marshaling != "asn1" && marshaling != "jws" {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("invalid marshaling type %q", marshaling))
		return signingRequest{}, false
	}
	s.mu.Lock()
	k := s.transit[r.PathValue("name")]
	s.mu.Unlock()
	if k == nil {
		writeErrors(w, http.StatusBadRequest, "signing key not found")
		return signingRequest{}, false
	}
	if k.typ == keyAES256 {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("key type %s does not support %s", k.typ, verb))
		return signingRequest{}, false
	}
	input, err := base64.StdEncoding.DecodeString(str(body, "input"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("unable to decode input as base64: %s", err))
		return signingRequest{}, false
	}
	if k.typ == keyECDSAP256 && body["prehashed"] != true {
		h := newHash()
		h.Write(input)
		input = h.Sum(nil)
	}
	return signingRequest{key: k, input: input, marshaling: marshaling, body: body}, true
}

// hashes are the hash_algorithm values Vault takes for signing.
var hashes = map[string]func() hash.Hash{
	"sha2-224": sha256.New224, "sha2-256": sha256.New,
	"sha2-384": sha512.New384, "sha2-512": sha512.New,
}

func (s *Server) transitSign(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	req, ok := s.signingInput(w, r, body, "signing")
	if !ok {
		return
	}
	s.mu.Lock()
	version := len(req.key.versions)
	if v, ok := num(req.body, "key_version"); ok && v != 0 {
		version = v
	}
	if version < 1 || version > len(req.key.versions) {
		s.mu.Unlock()
		writeErrors(w, http.StatusBadRequest, "requested version for signing is greater than the latest key version")
		return
	}
	signer := req.key.versions[version-1].signer
	s.mu.Unlock()
	var sig []byte
	var err error
	switch priv := signer.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, req.input)
	case *ecdsa.PrivateKey:
		if req.marshaling == "jws" {
			var rr, ss *big.Int
			if rr, ss, err = ecdsa.Sign(rand.Reader, priv, req.input); err == nil {
				sig = append(rr.FillBytes(make([]byte, 32)), ss.FillBytes(make([]byte, 32))...)
			}
		} else {
			sig, err = ecdsa.SignASN1(rand.Reader, priv, req.input)
		}
	}
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeData(w, map[string]any{
		"signature":   fmt.Sprintf("vault:v%d:%s", version, encodeSignature(sig, req.marshaling)),
		"key_version": version,
	})
}

func encodeSignature(sig []byte, marshaling string) string {
	if marshaling == "jws" {
		return base64.RawURLEncoding.EncodeToString(sig)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (s *Server) transitVerify(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	switch {
	case str(body, "signature") != "" && str(body, "hmac") != "":
		writeErrors(w, http.StatusBadRequest, "provide one of 'signature' or 'hmac'")
		return
	case str(body, "signature") == "":
		writeErrors(w, http.StatusBadRequest, "neither a 'signature' nor an 'hmac' were given to verify")
		return
	}
	req, ok := s.signingInput(w, r, body, "verification")
	if !ok {
		return
	}
	rest, ok := strings.CutPrefix(str(body, "signature"), "vault:v")
	if !ok {
		writeErrors(w, http.StatusBadRequest, "invalid signature: no prefix")
		return
	}
	verStr, encoded, ok := strings.Cut(rest, ":")
	if !ok {
		writeErrors(w, http.StatusBadRequest, "invalid signature: wrong number of fields")
		return
	}
	version, err := strconv.Atoi(verStr)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "invalid signature: version number could not be decoded")
		return
	}
	s.mu.Lock()
	latest := len(req.key.versions)
	var pub crypto.PublicKey
	if version >= 1 && version <= latest {
		pub = req.key.versions[version-1].signer.Public()
	}
	s.mu.Unlock()
	if pub == nil {
		writeErrors(w, http.StatusBadRequest, "invalid signature: version is too high")
		return
	}
	decode := base64.StdEncoding.DecodeString
	if req.marshaling == "jws" {
		decode = base64.RawURLEncoding.DecodeString
	}
	sig, err := decode(encoded)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "invalid base64 signature value")
		return
	}
	valid := false
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		valid = ed25519.Verify(pub, req.input, sig)
	case *ecdsa.PublicKey:
		if req.marshaling == "jws" {
			valid = len(sig) == 64 && ecdsa.Verify(pub, req.input, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		} else {
			valid = ecdsa.VerifyASN1(pub, req.input, sig)
		}
	}
	writeData(w, map[string]any{"valid": valid})
}
