"""`python -m customcrm_invoiced_mapper` runs the mapper, like the `customcrm-invoiced-mapper` command."""

from customcrm_invoiced_mapper.mapper import CustomcrmInvoicedMapper

CustomcrmInvoicedMapper.cli()
