// p12-pem cannot be installed from the registry this project uses; node-tak's streaming client and
// TAKAPI file calls never reach it. Fail loudly if something does.
function unavailable() {
  throw new Error('p12-pem is not available in this build (see tests/support/p12-pem-unavailable)')
}
module.exports = unavailable
module.exports.getPemFromP12 = unavailable
module.exports.default = unavailable
