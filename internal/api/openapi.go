package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.1 description of the whole HTTP API, written by
// hand from the handlers; openapi_test.go keeps it and the router in step
// and validates every response the API tests see against it.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml", OpenAPI)
}
