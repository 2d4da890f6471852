// Package config loads, layers and validates Ferry's configuration.
//
// A configuration is built from up to four layers, lowest to highest:
//
//  1. the built-in default, configs/ferry.yaml, embedded in the binary;
//  2. one config file: [LoadOptions.File], else a changed --config flag, else
//     FERRY_CONFIG, else <home>/ferry.yaml if it exists, else none;
//  3. FERRY_* environment variables, one per settable key (see [EnvName]);
//     empty ones, and FERRY_* variables that name no key (FERRY_HOME,
//     FERRY_CONFIG and any used elsewhere), are ignored;
//  4. changed command-line flags, one per settable key (see [FlagName]).
//
// Mappings merge key by key; any other value, lists included, is replaced
// whole by a higher layer. So a config file that sets plugins.instances or a
// role list (discovery, signaling, transports, protocols) replaces the
// default list instead of adding to it. A null value counts as not set.
//
// Each layer is checked on its own before merging, so an unknown key or a
// wrongly typed value is reported with the file (and line) or the variable or
// flag it came from; the merged result is then checked as a whole
// ([Config.Validate]). Problems are reported as [*ValidationError] values,
// joined with [errors.Join] when there are several.
//
// The lock file (see [Lock]) records the sha256 pin of every plugin binary.
package config
