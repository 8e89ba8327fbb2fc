#!/usr/bin/python3
"""Regenerates the interop keyfiles with the Python libraries btcli uses.

Needs Debian's python3-nacl, python3-cryptography, python3-yaml and
ansible-core. The $NACL and Fernet files use cheap KDF costs (see
interopKDF in interop_test.go); the vault uses the real ones.
"""
import base64, json, os, subprocess, tempfile, yaml
from nacl import pwhash, secret
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PW = b"thisisafakepassword"
NACL_SALT = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"
FERNET_SALT = b"Iguesscyborgslikemyselfhaveatendencytobeparanoidaboutourorigins"
PUB = "0xe4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446"
# The btcli 6.9.3 keyfile shape: json.dumps defaults, no privateKey.
DATA = json.dumps({
    "accountId": PUB, "publicKey": PUB,
    "secretPhrase": "old leopard transfer rib spatial phone calm indicate online fire caution review",
    "secretSeed": "0xda3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143",
    "ss58Address": "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX",
}).encode()

def write(name, data):
    with open(name, "wb") as f:
        f.write(data)

write("btcli693.json", DATA)
key = pwhash.argon2i.kdf(secret.SecretBox.KEY_SIZE, PW, NACL_SALT, opslimit=3, memlimit=64 * 1024)
write("nacl.keyfile", b"$NACL" + secret.SecretBox(key).encrypt(DATA))
kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=FERNET_SALT, iterations=1000)
write("fernet.keyfile", Fernet(base64.urlsafe_b64encode(kdf.derive(PW))).encrypt(DATA))
with tempfile.TemporaryDirectory() as d:
    pwfile = os.path.join(d, "pw")
    write(pwfile, PW)
    for name, plain in [("vault.keyfile", DATA), ("vault_binary.keyfile", yaml.dump(DATA).encode())]:
        src = os.path.join(d, name)
        write(src, plain)
        subprocess.run(["ansible-vault", "encrypt", "--vault-password-file", pwfile, "--output", name, src], check=True)
