package api

import _ "embed"

// openAPIDocument is the API's OpenAPI 3.0 description, served at
// /openapi.json; TestOpenAPIMatchesRoutes keeps it and routes() together.
//
//go:embed openapi.json
var openAPIDocument []byte
