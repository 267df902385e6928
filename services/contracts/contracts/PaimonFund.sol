// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title The Paimon fund
/// @notice Shares over three liquidity layers: L1 (cash that pays redemptions), L2 and L3 (less
/// liquid holdings an oracle revalues). The layers are accounting entries, not token balances:
/// the contract records what the off-chain operators did, and its events are the record the
/// platform indexes. NAV is l1 + l2 + l3; a share is worth NAV / totalShares.
/// @dev Redemptions lock shares at request and price them then, so a later revaluation changes
/// neither what a pending redemption pays nor the NAV per share of the other holders; the locked
/// shares are burnt at settlement, when the assets leave L1.
contract PaimonFund is AccessControl {
    using SafeCast for uint256;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    bytes32 public constant REBALANCER_ROLE = keccak256("REBALANCER_ROLE");

    uint8 public constant CHANNEL_INSTANT = 0;
    uint8 public constant CHANNEL_STANDARD = 1;

    uint8 public constant LAYER_L1 = 1;
    uint8 public constant LAYER_L2 = 2;
    uint8 public constant LAYER_L3 = 3;

    enum RedemptionStatus {
        None,
        Requested,
        Settled,
        Cancelled
    }

    /// @dev Two storage slots, so a batch of requests costs two fresh slots and one event each.
    struct Redemption {
        address owner;
        uint8 channel;
        RedemptionStatus status;
        uint128 shares;
        uint128 assets;
    }

    uint256 public l1;
    uint256 public l2;
    uint256 public l3;

    /// @notice Every share not yet burnt, locked ones included.
    uint256 public totalShares;
    /// @notice Shares an owner may redeem (not locked in a pending redemption).
    mapping(address owner => uint256) public sharesOf;
    /// @notice Shares an owner has locked in pending redemptions.
    mapping(address owner => uint256) public lockedSharesOf;

    /// @notice The id the next redemption request gets; ids start at 1 so 0 never names one.
    uint256 public nextRedemptionId = 1;
    mapping(uint256 id => Redemption) private _redemptions;

    /// @notice Rebalance executions already recorded; an execution is recorded once.
    mapping(bytes32 executionId => bool) public rebalanceExecuted;

    event Deposited(address indexed owner, uint256 assets, uint256 shares);
    event RedemptionRequested(
        uint256 indexed id,
        address indexed owner,
        uint256 shares,
        uint256 assets,
        uint8 channel
    );
    event RedemptionSettled(uint256 indexed id, address indexed owner, uint256 shares, uint256 assets);
    event RedemptionCancelled(uint256 indexed id, address indexed owner, uint256 shares);
    event LayerBalancesUpdated(uint256 l1, uint256 l2, uint256 l3);
    event RebalanceExecuted(bytes32 indexed executionId, uint8 fromLayer, uint8 toLayer, uint256 amount);

    error ZeroAmount();
    error ZeroShares();
    error ZeroNav();
    error EmptyBatch();
    error InvalidChannel(uint8 channel);
    error InvalidLayer(uint8 layer);
    error SameLayer(uint8 layer);
    error InsufficientShares(address owner, uint256 available, uint256 required);
    error InsufficientLayerBalance(uint8 layer, uint256 available, uint256 required);
    error RedemptionNotRequested(uint256 id, RedemptionStatus status);
    error NotRedemptionOwner(uint256 id, address caller);
    error RebalanceAlreadyExecuted(bytes32 executionId);

    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(SETTLER_ROLE, msg.sender);
        _grantRole(ORACLE_ROLE, msg.sender);
        _grantRole(REBALANCER_ROLE, msg.sender);
    }

    /// @notice l1 + l2 + l3.
    function nav() public view returns (uint256) {
        return l1 + l2 + l3;
    }

    function redemption(uint256 id) external view returns (Redemption memory) {
        return _redemptions[id];
    }

    /// @notice Adds `assets` to L1 and mints shares at the current NAV per share (1:1 into an
    /// empty fund). Rounds the shares down, in the fund's favour.
    function deposit(uint256 assets) external returns (uint256 shares) {
        if (assets == 0) revert ZeroAmount();
        uint256 supply = totalShares;
        if (supply == 0) {
            shares = assets;
        } else {
            uint256 value = nav();
            if (value == 0) revert ZeroNav();
            shares = (assets * supply) / value;
        }
        if (shares == 0) revert ZeroShares();
        l1 += assets;
        totalShares = supply + shares;
        sharesOf[msg.sender] += shares;
        emit Deposited(msg.sender, assets, shares);
        _emitLayers();
    }

    /// @notice Locks `shares` of the caller and prices them at the current NAV per share.
    /// @return id The redemption's id.
    function requestRedemption(uint256 shares, uint8 channel) external returns (uint256 id) {
        _checkChannel(channel);
        _lock(msg.sender, shares);
        id = nextRedemptionId;
        nextRedemptionId = id + 1;
        _record(id, msg.sender, shares, channel, nav(), totalShares);
    }

    /// @notice One request per element of `shares`, all on `channel`, priced alike.
    /// @return firstId The first request's id; the others follow it one by one.
    function requestRedemptions(uint256[] calldata shares, uint8 channel) external returns (uint256 firstId) {
        _checkChannel(channel);
        if (shares.length == 0) revert EmptyBatch();
        uint256 sum;
        for (uint256 i = 0; i < shares.length; ++i) {
            sum += shares[i];
        }
        _lock(msg.sender, sum);
        uint256 value = nav();
        uint256 supply = totalShares;
        firstId = nextRedemptionId;
        for (uint256 i = 0; i < shares.length; ++i) {
            _record(firstId + i, msg.sender, shares[i], channel, value, supply);
        }
        nextRedemptionId = firstId + shares.length;
    }

    /// @notice Pays a requested redemption out of L1 and burns its locked shares.
    function settleRedemption(uint256 id) external onlyRole(SETTLER_ROLE) {
        Redemption storage r = _requested(id);
        uint256 assets = r.assets;
        uint256 available = l1;
        if (available < assets) revert InsufficientLayerBalance(LAYER_L1, available, assets);
        r.status = RedemptionStatus.Settled;
        l1 = available - assets;
        totalShares -= r.shares;
        lockedSharesOf[r.owner] -= r.shares;
        emit RedemptionSettled(id, r.owner, r.shares, assets);
        _emitLayers();
    }

    /// @notice Returns a requested redemption's shares to its owner; by the owner or a settler.
    function cancelRedemption(uint256 id) external {
        Redemption storage r = _requested(id);
        if (msg.sender != r.owner && !hasRole(SETTLER_ROLE, msg.sender)) revert NotRedemptionOwner(id, msg.sender);
        r.status = RedemptionStatus.Cancelled;
        lockedSharesOf[r.owner] -= r.shares;
        sharesOf[r.owner] += r.shares;
        emit RedemptionCancelled(id, r.owner, r.shares);
    }

    /// @notice The oracle's revaluation of L2 and L3; L1 is cash and is never revalued.
    function reportLayerValues(uint256 newL2, uint256 newL3) external onlyRole(ORACLE_ROLE) {
        l2 = newL2;
        l3 = newL3;
        _emitLayers();
    }

    /// @notice Records a move of `amount` from one layer to another, once per `executionId`, so an
    /// executor that retries after a lost receipt cannot move the value twice.
    function executeRebalance(
        bytes32 executionId,
        uint8 fromLayer,
        uint8 toLayer,
        uint256 amount
    ) external onlyRole(REBALANCER_ROLE) {
        if (rebalanceExecuted[executionId]) revert RebalanceAlreadyExecuted(executionId);
        _checkLayer(fromLayer);
        _checkLayer(toLayer);
        if (fromLayer == toLayer) revert SameLayer(fromLayer);
        if (amount == 0) revert ZeroAmount();
        uint256 available = _layer(fromLayer);
        if (available < amount) revert InsufficientLayerBalance(fromLayer, available, amount);
        rebalanceExecuted[executionId] = true;
        _setLayer(fromLayer, available - amount);
        _setLayer(toLayer, _layer(toLayer) + amount);
        emit RebalanceExecuted(executionId, fromLayer, toLayer, amount);
        _emitLayers();
    }

    function _lock(address owner, uint256 shares) private {
        if (shares == 0) revert ZeroShares();
        uint256 available = sharesOf[owner];
        if (available < shares) revert InsufficientShares(owner, available, shares);
        sharesOf[owner] = available - shares;
        lockedSharesOf[owner] += shares;
    }

    function _record(uint256 id, address owner, uint256 shares, uint8 channel, uint256 value, uint256 supply) private {
        if (shares == 0) revert ZeroShares();
        // Rounds down, in the fund's favour; supply > 0 because the caller holds the shares.
        uint256 assets = (shares * value) / supply;
        _redemptions[id] = Redemption({
            owner: owner,
            channel: channel,
            status: RedemptionStatus.Requested,
            shares: shares.toUint128(),
            assets: assets.toUint128()
        });
        emit RedemptionRequested(id, owner, shares, assets, channel);
    }

    function _requested(uint256 id) private view returns (Redemption storage r) {
        r = _redemptions[id];
        if (r.status != RedemptionStatus.Requested) revert RedemptionNotRequested(id, r.status);
    }

    function _checkChannel(uint8 channel) private pure {
        if (channel != CHANNEL_INSTANT && channel != CHANNEL_STANDARD) revert InvalidChannel(channel);
    }

    function _checkLayer(uint8 layer) private pure {
        if (layer < LAYER_L1 || layer > LAYER_L3) revert InvalidLayer(layer);
    }

    function _layer(uint8 layer) private view returns (uint256) {
        if (layer == LAYER_L1) return l1;
        if (layer == LAYER_L2) return l2;
        return l3;
    }

    function _setLayer(uint8 layer, uint256 value) private {
        if (layer == LAYER_L1) l1 = value;
        else if (layer == LAYER_L2) l2 = value;
        else l3 = value;
    }

    function _emitLayers() private {
        emit LayerBalancesUpdated(l1, l2, l3);
    }
}
