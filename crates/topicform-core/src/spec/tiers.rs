//! Azure Event Hubs tier limits (DESIGN section 6; Microsoft's quotas page as
//! of 2025-2026). `validate` checks a spec against them before any call.

use super::model::EventHubsTier;

/// What one tier allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    /// Whether the namespace has a Kafka endpoint at all.
    pub kafka_endpoint: bool,
    /// Most partitions one event hub can have.
    pub max_partitions: u32,
    /// Whether partitions can be added after creation.
    pub partition_increase: bool,
    /// Event hubs per namespace, per capacity unit (premium: per PU).
    pub hubs_per_unit: u32,
    /// Whether the hubs limit scales with capacity.
    pub hubs_scale_with_capacity: bool,
    /// Longest retention, in hours.
    pub max_retention_hours: i64,
    /// Whether `cleanup.policy: compact` is available.
    pub compaction: bool,
    /// Partitions per namespace, per capacity unit, where the tier has such a
    /// quota (premium: 200 per PU; dedicated: 2000 per CU).
    pub partitions_per_unit: Option<u32>,
}

impl TierLimits {
    /// The limits of `tier`.
    pub const fn of(tier: EventHubsTier) -> TierLimits {
        match tier {
            EventHubsTier::Basic => TierLimits {
                kafka_endpoint: false,
                max_partitions: 32,
                partition_increase: false,
                hubs_per_unit: 10,
                hubs_scale_with_capacity: false,
                max_retention_hours: 24,
                compaction: false,
                partitions_per_unit: None,
            },
            EventHubsTier::Standard => TierLimits {
                kafka_endpoint: true,
                max_partitions: 32,
                partition_increase: false,
                hubs_per_unit: 10,
                hubs_scale_with_capacity: false,
                max_retention_hours: 7 * 24,
                compaction: true,
                partitions_per_unit: None,
            },
            EventHubsTier::Premium => TierLimits {
                kafka_endpoint: true,
                max_partitions: 100,
                partition_increase: true,
                hubs_per_unit: 100,
                hubs_scale_with_capacity: true,
                max_retention_hours: 90 * 24,
                compaction: true,
                partitions_per_unit: Some(200),
            },
            EventHubsTier::Dedicated => TierLimits {
                kafka_endpoint: true,
                max_partitions: 1024,
                partition_increase: true,
                hubs_per_unit: 1000,
                hubs_scale_with_capacity: false,
                max_retention_hours: 90 * 24,
                compaction: true,
                partitions_per_unit: Some(2000),
            },
        }
    }

    /// Partitions allowed across one namespace with `capacity` units.
    pub fn max_namespace_partitions(&self, capacity: u32) -> Option<u64> {
        self.partitions_per_unit.map(|p| u64::from(p) * u64::from(capacity.max(1)))
    }

    /// Event hubs allowed in one namespace with `capacity` units.
    pub fn max_hubs(&self, capacity: u32) -> u32 {
        if self.hubs_scale_with_capacity {
            self.hubs_per_unit * capacity.max(1)
        } else {
            self.hubs_per_unit
        }
    }
}

/// Topic config keys that map onto an event hub's ARM properties. Any other
/// key cannot be honoured on Event Hubs.
pub(crate) const MAPPED_CONFIG_KEYS: [&str; 3] = ["retention.ms", "cleanup.policy", "delete.retention.ms"];
