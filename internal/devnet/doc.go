// Package devnet runs a whole Compute Subnet on one machine, in process: the
// embedded dev chain with fast blocks and a short tempo, one staked
// validator and N miners of different speeds (real axons on 127.0.0.1,
// real dendrite traffic), with a live summary and a final leaderboard.
// Keys are development URIs (//Validator, //Miner1..N) written unencrypted
// to the devnet's own directory, never to the user's wallets.
package devnet
