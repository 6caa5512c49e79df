# DelingTest: what deling's TAP tests (t/*.pl, on PostgreSQL's own
# PostgreSQL::Test::Cluster) share: a server configured the way deling needs
# it, waiting for the access log, and tokens minted with the test tools.
package DelingTest;

use strict;
use warnings;
use Exporter 'import';
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(deling_node wait_access_log repo_path);

# repo_path(relative): a path in the repository the tests run from
sub repo_path
{
	my ($rel) = @_;
	return "$FindBin::RealBin/../$rel";
}

# deling_node(name, database, extra settings...): a started server with
# deling preloaded, logical WAL, and the access log's worker draining
# `database` (created here); the settings of scripts/pg-options.sh.
sub deling_node
{
	my ($name, $db, @extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical');
	my @settings = split /\n/, `${\ repo_path('scripts/pg-options.sh')} $db`;
	$node->append_conf('postgresql.conf',
		join("\n", map { my ($k, $v) = split /=/, $_, 2; "$k = '$v'" } @settings, @extra) . "\n");
	$node->start;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"}) unless $db eq 'postgres';
	return $node;
}

# wait_access_log(node, database): wait until the access log takes entries
# (the worker holds its slot), so that sharing reads are allowed
sub wait_access_log
{
	my ($node, $db) = @_;
	return $node->poll_query_until($db, 'SELECT deling.access_log_ready()');
}

1;
