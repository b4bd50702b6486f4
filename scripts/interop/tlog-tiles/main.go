// Command tlog-tiles is a second client for Tributary's log tiles, written against Go's
// golang.org/x/mod/sumdb (Debian: golang-golang-x-mod-dev), which Tributary's code did not come from:
// sumdb/note verifies the checkpoint, sumdb/tlog's TileHashReader reads hash tiles and authenticates
// every one against the checkpoint's root, and inclusion and consistency proofs are built by tlog
// from those tiles and checked, with leaf hashes taken from the entry bundles.
//
//	go run main.go URL VERIFIER_KEY [OLD_SIZE OLD_ROOT_BASE64]
//
// Exit status 0 and one "ok" line when everything verified.
package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func get(url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v", url, resp.StatusCode, err)
	}
	return body
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlog-tiles: "+format+"\n", args...)
	os.Exit(1)
}

// tiles reads C2SP tiles: tlog names them tile/8/L/N[.p/W] (height 8); C2SP drops the height.
type tiles struct{ base string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		if tile.H != 8 || tile.L < 0 {
			return nil, fmt.Errorf("unexpected tile %v", tile)
		}
		out[i] = get(t.base + "/" + strings.Replace(tile.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// entry returns entry n of a tree of size, from its entry bundle.
func entry(base string, n, size int64) []byte {
	bundle := n / 256
	width := size - bundle*256
	path := base + "/tile/entries/" + strings.TrimPrefix(tlog.Tile{H: 8, L: 0, N: bundle, W: 256}.Path(), "tile/8/0/")
	if width < 256 {
		path += ".p/" + strconv.FormatInt(width, 10)
	}
	data := get(path)
	for i := int64(0); ; i++ {
		if len(data) < 2 {
			fail("entry bundle %d ends early", bundle)
		}
		l := int(data[0])<<8 | int(data[1])
		if len(data) < 2+l {
			fail("entry bundle %d is truncated", bundle)
		}
		if bundle*256+i == n {
			return data[2 : 2+l]
		}
		data = data[2+l:]
	}
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 5 {
		fail("usage: tlog-tiles URL VERIFIER_KEY [OLD_SIZE OLD_ROOT_BASE64]")
	}
	base := strings.TrimSuffix(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	n, err := note.Open(get(base+"/checkpoint"), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint text %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 {
		fail("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], root)
	hashes := tlog.TileHashReader(tree, tiles{base})

	indices := []int64{0, size / 2, size - 1}
	for _, i := range indices {
		proof, err := tlog.ProveRecord(size, i, hashes)
		if err != nil {
			fail("inclusion proof of %d: %v", i, err)
		}
		if err := tlog.CheckRecord(proof, size, tree.Hash, i, tlog.RecordHash(entry(base, i, size))); err != nil {
			fail("entry %d is not in the tree: %v", i, err)
		}
	}
	consistency := ""
	if len(os.Args) == 5 {
		old, err := strconv.ParseInt(os.Args[3], 10, 64)
		if err != nil || old < 1 || old > size {
			fail("old size %q", os.Args[3])
		}
		oldRoot, err := base64.StdEncoding.DecodeString(os.Args[4])
		if err != nil || len(oldRoot) != tlog.HashSize {
			fail("old root %q", os.Args[4])
		}
		var oldHash tlog.Hash
		copy(oldHash[:], oldRoot)
		proof, err := tlog.ProveTree(size, old, hashes)
		if err != nil {
			fail("consistency proof %d -> %d: %v", old, size, err)
		}
		if err := tlog.CheckTree(proof, size, tree.Hash, old, oldHash); err != nil {
			fail("the tree of size %d does not extend the one of size %d: %v", size, old, err)
		}
		consistency = fmt.Sprintf(", consistent with size %d", old)
	}
	fmt.Printf("ok: checkpoint of size %d signed by %s; tiles authenticated by tlog; %d inclusion proofs%s\n",
		size, verifier.Name(), len(indices), consistency)
}
