// Package rpc is a JSON-RPC 2.0 client over one websocket to a Substrate node.
//
// The connection is dialled lazily and re-dialled with exponential backoff after it
// breaks; each call carries its own context. Calls made with Call are retried once on a
// fresh connection when the old one breaks before an answer arrives; CallOnce (used for
// extrinsic submission) never is. Subscriptions end with an error wrapping
// chain.ErrConnection when the connection drops; the caller re-subscribes.
// A Client is safe for concurrent use; one goroutine per connection reads responses.
package rpc
