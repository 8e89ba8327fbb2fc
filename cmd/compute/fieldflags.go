package main

import (
	"errors"
	"strings"

	"github.com/sn27/compute/internal/config"
)

// fieldFlags names the flag that fills each configuration field the
// packages' checks may refuse (config.FieldError.Field), so that an operator
// reads the flag, not the Go field. It is the one place fields meet flags.
func fieldFlags() map[string]string {
	return map[string]string{
		"connect.Config.Endpoint": "subtensor.chain_endpoint",
		"connect.Config.Network":  "subtensor.network",

		"update.Config.Feed":      "update.feed",
		"update.Config.PublicKey": "update.public_key",
		"update.Config.Interval":  "update.interval",
		"update.Config.Restart":   "update.restart",

		"miner.Config.AxonPort":                "axon.port",
		"miner.Config.ExternalPort":            "axon.external_port",
		"miner.Config.AxonIP":                  "axon.ip",
		"miner.Config.ExternalIP":              "axon.external_ip",
		"miner.Config.SSHBindIP":               "ssh.bind_ip",
		"miner.Config.SSHPort":                 "ssh.port",
		"miner.Config.Solver":                  "miner.solver",
		"miner.Config.DataDir":                 "miner.data_dir",
		"miner.Config.Policy.UpdatedThreshold": "miner.whitelist.updated.threshold",
		"container.Config.SSHPort":             "ssh.port",
		"hashcat.Options.WorkloadProfile":      "miner.hashcat.workload.profile",

		"validator.Config.Score.MaxDifficulty":     "validator.difficulty.max",
		"validator.Config.ChallengeMinBlocks":      "validator.challenge.blocks.min",
		"validator.Config.ChallengeMaxBlocks":      "validator.challenge.blocks.max",
		"validator.Config.SpecsEvery":              "validator.specs.blocks",
		"validator.Config.StatusEvery":             "validator.status.blocks",
		"validator.Config.WeightsEvery":            "validator.weights.blocks",
		"validator.Config.PruneEvery":              "validator.prune.blocks",
		"validator.Config.ChallengeBatchSize":      "validator.challenge.batch.size",
		"validator.Config.SpecsBatchSize":          "validator.specs.batch.size",
		"validator.Config.SpecsTimeout":            "validator.specs.timeout",
		"validator.Config.ChainTimeout":            "validator.chain.timeout",
		"validator.Config.WeightsAttempts":         "validator.weights.attempts",
		"validator.Config.WeightsBackoff":          "validator.weights.backoff",
		"validator.Config.Filter.UpdatedThreshold": "validator.whitelist.updated.threshold",
		"validator.SharedConfig.MaxAgeBlocks":      "validator.shared.age.blocks",
		"validator.SharedConfig.PenaltyShare":      "validator.shared.penalty.share",
		"validator.SharedConfig.Penalty":           "validator.shared.penalty",
		"canary.Config.Interval":                   "validator.canary.interval",
		"canary.Config.Concurrency":                "validator.canary.concurrency",
		"canary.Config.Timeout":                    "validator.canary.timeout",
		"canary.Config.LoginTimeout":               "validator.canary.login.timeout",
		"canary.Config.MaxDisk":                    "validator.canary.max_disk",
		"canary.Config.DataDir":                    "validator.data_dir",

		"renter.Config.DataDir":        "validator.data_dir",
		"renter.Request.Timeline":      "timeline",
		"renter.Request.Hotkey":        "hotkey",
		"renter.Request.SSHKey":        "ssh-key",
		"renter.Request.SSHKeys":       "ssh-key",
		"renter.Extend.Days":           "days",
		"renter.SetSSHKeys.Keys":       "ssh-key",
		"renter.Resources":             "requirement",
		"renter.Resources.CPUCount":    "cpu.count",
		"renter.Resources.GPUCount":    "gpu.count",
		"renter.Resources.GPUType":     "gpu.type",
		"renter.Resources.GPUCapacity": "gpu.capacity",
		"renter.Resources.RAM":         "ram",
		"renter.Resources.Disk":        "disk",

		"api.Config.Addr":               "api.addr",
		"api.Config.TLSCert":            "api.tls.cert",
		"api.Config.TLSKey":             "api.tls.key",
		"api.Config.ClientCA":           "api.tls.client_ca",
		"api.Config.Rate":               "api.rate",
		"api.Config.ReadTimeout":        "api.timeout.read",
		"api.Config.WriteTimeout":       "api.timeout.write",
		"api.KeySpec.Name":              "name",
		"api.KeySpec.Scopes":            "scopes",
		"api.KeySpec.Webhook":           "webhook",
		"api.KeySpec.Rate":              "rate",
		"rentals.Config.HealthInterval": "api.health.interval",
		"rentals.Config.MaxMisses":      "api.health.misses",
		"rentals.Config.ProbeTimeout":   "api.health.timeout",
		"rentals.Config.DataDir":        "validator.data_dir",

		"devnet.Config.Miners":  "miners",
		"devnet.Config.Plot":    "plot",
		"devnet.Config.APIAddr": "api.addr",

		"doctor.Config.Mode":         "mode",
		"doctor.Config.AxonIP":       "axon.ip",
		"doctor.Config.AxonPort":     "axon.port",
		"doctor.Config.ExternalIP":   "axon.external_ip",
		"doctor.Config.ExternalPort": "axon.external_port",
		"doctor.Config.SSHPort":      "ssh.port",
		"doctor.Config.CheckTimeout": "timeout",

		"service.Config.Name":       "name",
		"service.Config.User":       "user",
		"service.Config.Binary":     "binary",
		"service.Config.RestartSec": "restart-sec",
	}
}

// flagMessage rewrites, in msg, the text of the first *config.FieldError in
// err's chain to name the field's flag ("flag 'axon.port': 70000 is not a
// port"); it reports whether err holds a field error.
func flagMessage(err error, msg string) (string, bool) {
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		return msg, false
	}
	flag, ok := fieldFlags()[fe.Field]
	if !ok {
		return msg, true
	}
	return strings.Replace(msg, fe.Error(), "flag '"+flag+"': "+fe.Err.Error(), 1), true
}

// isFieldError recognises a configuration value a package refused: the
// configs here are filled from flags, so it is a usage error.
func isFieldError(err error) bool {
	_, ok := flagMessage(err, "")
	return ok
}
