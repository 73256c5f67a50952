//! Builds the filter chain from the `[[filters]]` config. The chain itself runs inside each
//! input's task (see `intake`), so filters use the cores the inputs use.

use std::sync::Arc;

use crate::config::filters::FilterConfig;
use crate::filter::chain::{FilterChain, Stage, StageMetrics};
use crate::filter::stage::StageKind;
use crate::pipeline::build::StartError;
use crate::pipeline::tagmatch::TagMatcher;

/// Builds every configured filter, in config order. Configs passed the loader's checks, so an
/// error here means a config built in code skipped them.
pub fn build_chain(filters: &[FilterConfig]) -> Result<FilterChain, StartError> {
    let mut stages = Vec::with_capacity(filters.len());
    for fc in filters {
        let name: Arc<str> = fc.alias().into();
        let invalid = |message: String| StartError::Filter {
            component: name.to_string(),
            message,
        };
        let (glob, regex) = fc.match_rules();
        let matcher = TagMatcher::new(glob, regex).map_err(|e| invalid(e.to_string()))?;
        let kind = match fc {
            FilterConfig::RecordModifier(c) => {
                StageKind::RecordModifier(c.build().map_err(invalid)?)
            }
        };
        stages.push(Stage {
            metrics: StageMetrics::new(&name),
            name,
            matcher,
            kind,
        });
    }
    Ok(FilterChain::new(stages))
}
