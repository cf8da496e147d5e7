package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"

	"github.com/herald-news/herald/internal/store/backend"
)

// keyPrint names a token key without revealing it: the first 8 bytes of
// its SHA-256, in hex.
func keyPrint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// recordServingKeys stores the fingerprints of the keys serve verifies
// links with, so that commands run from a shell can tell whether the
// links they are about to mail will be accepted (checkSigningKey).
func recordServingKeys(ctx context.Context, cfg *Config, st backend.Store, log *slog.Logger) error {
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		return err
	}
	prints := make([]string, len(keys))
	for i, k := range keys {
		prints[i] = keyPrint(k)
	}
	log.Debug("token keys recorded for commands", slog.Any("fingerprints", prints))
	return st.SetServingKeyPrints(ctx, prints)
}

// checkSigningKey refuses, before anything is sent, when the key this
// process would sign links with is not one the site verifies: a command
// run from a shell without HERALD_SECRETS_TOKEN_KEYS (kept in
// /etc/herald/env, which only systemd reads) signs with the key kept in
// the store, and serve would answer 400 to every link of that mailing.
// Before serve has ever run against the store there is nothing to compare.
func checkSigningKey(ctx context.Context, cfg *Config, st backend.Store) error {
	prints, ok, err := st.ServingKeyPrints(ctx)
	if err != nil || !ok {
		return err
	}
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		return err
	}
	if slices.Contains(prints, keyPrint(keys[0])) {
		return nil
	}
	signer := "the key kept in the store (no secrets.token_keys given)"
	if len(cfg.Secrets.TokenKeys) > 0 {
		signer = "secrets.token_keys[0]"
	}
	return fmt.Errorf("refusing to send anything: links would be signed with %s (fingerprint %s), which herald serve does not accept (it verifies %v), so every unsubscribe and preferences link would answer 400; give this command the same HERALD_SECRETS_TOKEN_KEYS as serve (e.g. set -a; . /etc/herald/env; set +a)",
		signer, keyPrint(keys[0]), prints)
}
