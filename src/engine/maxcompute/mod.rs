//! The MaxCompute engine: REST client, request signing, SQL instances and
//! the instance tunnel.
