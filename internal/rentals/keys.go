package rentals

import (
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
)

// maxRenterKeys is how many renter keys a rental holds: the lease's limit
// less the health key.
const maxRenterKeys = container.MaxSSHKeys - 1

// maxCommentLen bounds the comment kept with a key for display.
const maxCommentLen = 100

// normalizeKey checks a renter's SSH public key (authorized_keys syntax,
// one key, no options, an accepted type and size) and returns it canonical,
// followed by its comment when it has a short printable one.
func normalizeKey(key, field string) (string, error) {
	canon, err := container.NormalizeSSHKey(strings.TrimSpace(key))
	if err != nil {
		return "", config.Errorf(field, "%w", err)
	}
	_, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(key)))
	if err != nil || !cleanComment(comment) {
		return canon, nil
	}
	return canon + " " + comment, nil
}

func cleanComment(s string) bool {
	if s == "" || len(s) > maxCommentLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// bareKey is a normalised key without its comment: "type base64".
func bareKey(k string) string {
	f := strings.Fields(k)
	if len(f) < 2 {
		return k
	}
	return f[0] + " " + f[1]
}

func sameKey(a, b string) bool { return bareKey(a) == bareKey(b) }
